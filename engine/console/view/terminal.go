package view

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/ferryhq/ferry/engine"
)

// Keys is what the keyboard asks of the watch.
type Keys struct {
	Trigger   func(rule string) // t or enter on a rule
	Quit      func()            // q
	Interrupt func()            // Ctrl-C (the terminal sends no signal in raw mode)
}

// Terminal draws a Model full-screen on a terminal and reads keys. It is an
// engine.Sink, and an io.Writer for log lines.
type Terminal struct {
	in, out *os.File
	keys    Keys
	color   bool

	mu    sync.Mutex
	m     *Model
	dirty bool

	restore func()
	done    chan struct{}
	wg      sync.WaitGroup
}

// Usable reports whether the view can run on in and out: both terminals.
func Usable(in, out *os.File) bool {
	return term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

// Open switches out to the alternate screen, puts in in raw mode and starts
// drawing m, at most every 50 ms. Close undoes it all.
func Open(in, out *os.File, m *Model, keys Keys, color bool) (*Terminal, error) {
	state, err := term.MakeRaw(int(in.Fd()))
	if err != nil {
		return nil, err
	}
	t := &Terminal{in: in, out: out, keys: keys, color: color, m: m, dirty: true, done: make(chan struct{})}
	io.WriteString(out, "\x1b[?1049h\x1b[?25l") // alternate screen, hide the cursor
	t.restore = func() {
		io.WriteString(out, "\x1b[?25h\x1b[?1049l")
		term.Restore(int(in.Fd()), state)
	}
	t.wg.Add(1)
	go t.draw()
	go t.readKeys() // blocks in Read; it ends with the process
	return t, nil
}

// Handle updates the model with an event.
func (t *Terminal) Handle(e engine.Event) {
	t.mu.Lock()
	t.m.Handle(e)
	t.dirty = true
	t.mu.Unlock()
}

// Write adds log lines.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirty = true
	return t.m.Write(p)
}

// Update runs f on the model under the view's lock and redraws.
func (t *Terminal) Update(f func(*Model)) {
	t.mu.Lock()
	f(t.m)
	t.dirty = true
	t.mu.Unlock()
}

// Close stops drawing, restores the terminal and returns the last log
// lines that fit on one screen followed by the rules' summary, for the
// caller to print on the normal screen.
func (t *Terminal) Close() []string {
	close(t.done)
	t.wg.Wait()
	t.restore()
	t.mu.Lock()
	defer t.mu.Unlock()
	_, h, err := term.GetSize(int(t.out.Fd()))
	if err != nil {
		h = 24
	}
	tail := t.m.log[max(len(t.m.log)-h/2, 0):]
	return append(append([]string{}, tail...), t.m.Summary()...)
}

func (t *Terminal) draw() {
	defer t.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastW, lastH, lastDraw := 0, 0, time.Time{}
	for {
		select {
		case <-t.done:
			return
		case now := <-tick.C:
			w, h, err := term.GetSize(int(t.out.Fd()))
			if err != nil {
				w, h = 80, 24
			}
			t.mu.Lock()
			// Redraw on a change, a resize, or every second while a rule
			// runs (its elapsed time moves).
			if !t.dirty && w == lastW && h == lastH && !(t.m.Running() && now.Sub(lastDraw) >= time.Second) {
				t.mu.Unlock()
				continue
			}
			lines := t.m.Render(w, h, now, t.color)
			t.dirty = false
			t.mu.Unlock()
			var b bytes.Buffer
			b.WriteString("\x1b[H")
			for i, l := range lines {
				if i > 0 {
					b.WriteString("\r\n")
				}
				b.WriteString(l)
				b.WriteString("\x1b[K")
			}
			b.WriteString("\x1b[J")
			t.out.Write(b.Bytes())
			lastW, lastH, lastDraw = w, h, now
		}
	}
}

func (t *Terminal) readKeys() {
	r := bufio.NewReader(t.in)
	for {
		k, err := readKey(r)
		if err != nil {
			return
		}
		select {
		case <-t.done:
			return
		default:
		}
		switch k {
		case "q":
			t.keys.Quit()
		case "ctrl-c":
			t.keys.Interrupt()
		case "up", "k":
			t.Update(func(m *Model) { m.Move(-1) })
		case "down", "j":
			t.Update(func(m *Model) { m.Move(1) })
		case "t", "enter":
			t.mu.Lock()
			sel := t.m.Selected()
			t.mu.Unlock()
			if sel != "" {
				t.keys.Trigger(sel)
			}
		}
	}
}

// readKey reads one key press: a printable character, "enter", "ctrl-c",
// "up" or "down"; other escape sequences come back as "".
func readKey(r *bufio.Reader) (string, error) {
	b, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	switch b {
	case 3:
		return "ctrl-c", nil
	case '\r', '\n':
		return "enter", nil
	case 0x1b:
		if r.Buffered() == 0 {
			return "esc", nil
		}
		seq := []byte{}
		for r.Buffered() > 0 {
			c, _ := r.ReadByte()
			seq = append(seq, c)
			if c >= 0x40 && c <= 0x7e && len(seq) > 1 {
				break
			}
		}
		switch strings.TrimPrefix(string(seq), "O") {
		case "[A", "A":
			return "up", nil
		case "[B", "B":
			return "down", nil
		}
		return "", nil
	}
	return string(rune(b)), nil
}
