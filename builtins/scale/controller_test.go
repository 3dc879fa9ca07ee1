package scale

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func counterPolicy() *Policy {
	return &Policy{Min: 1, Max: 5, Metric: "http_requests_total", Target: 10, Window: 3 * time.Second, Cooldown: 5 * time.Second}
}

func TestCounterRateWithResetAndWindow(t *testing.T) {
	c := NewController("api", counterPolicy())
	if _, ok := c.Average(); ok {
		t.Fatal("an average with no observations")
	}
	c.Observe(at(0), map[string]float64{"a": 100})
	if _, ok := c.Average(); ok {
		t.Fatal("a counter rate from one observation")
	}
	c.Observe(at(1), map[string]float64{"a": 120})
	// a restarted: its counter starts again from 0 and reaches 15.
	c.Observe(at(2), map[string]float64{"a": 15})
	avg, ok := c.Average()
	if want := (20.0 + 15) / 2; !ok || avg != want {
		t.Fatalf("rate %v (ok %v), want %v", avg, ok, want)
	}
	// At 4s, the observation at 0s has left the 3s window.
	c.Observe(at(4), map[string]float64{"a": 55})
	if avg, _ := c.Average(); avg != (15.0+40)/3 {
		t.Fatalf("rate %v over the window, want %v", avg, (15.0+40)/3)
	}
}

func TestAverageAcrossReplicasThatComeAndGo(t *testing.T) {
	c := NewController("api", counterPolicy())
	c.Observe(at(0), map[string]float64{"a": 0, "b": 0})
	c.Observe(at(1), map[string]float64{"a": 30, "b": 10})
	if avg, _ := c.Average(); avg != 20 {
		t.Fatalf("average %v, want 20", avg)
	}
	// b is gone; c is new, with one observation: the service served
	// a's 60 requests in 2s, and two replicas run now.
	c.Observe(at(2), map[string]float64{"a": 60, "c": 5})
	if avg, _ := c.Average(); avg != 15 {
		t.Fatalf("average %v, want 60/2s over 2 replicas", avg)
	}
}

func TestGaugeAverage(t *testing.T) {
	p := counterPolicy()
	p.Metric = "inflight"
	c := NewController("api", p)
	c.Observe(at(0), map[string]float64{"a": 4, "b": 10})
	c.Observe(at(1), map[string]float64{"a": 8, "b": 10})
	if avg, ok := c.Average(); !ok || avg != 8 {
		t.Fatalf("average %v, want (6+10)/2", avg)
	}
}

// feed records the value v for each of replicas replicas at time s.
func feed(c *Controller, s float64, replicas int, v float64) {
	vals := map[string]float64{}
	for i := range replicas {
		vals[string(rune('a'+i))] = v
	}
	c.Observe(at(s), vals)
}

func TestDecideUpClampToleranceAndStabilisedDown(t *testing.T) {
	p := counterPolicy()
	p.Metric = "load" // a gauge: one observation is enough
	p.Window = time.Second / 2
	c := NewController("api", p)

	feed(c, 0, 2, 10.5) // within 10% of the target
	if d := c.Decide(at(0), 2); d.To != 2 {
		t.Fatalf("within tolerance: %+v", d)
	}
	feed(c, 1, 2, 38)
	d := c.Decide(at(1), 2)
	if d.To != 5 { // ceil(2 × 3.8) = 8, clamped to max
		t.Fatalf("up: %+v, want 5", d)
	}
	if !strings.Contains(d.Reason, "load 38 per replica over 500ms, target load 10") {
		t.Fatalf("reason %q", d.Reason)
	}
	// Load falls at once: held at 5 while 5 was recommended within the cooldown.
	feed(c, 2, 5, 2)
	if d := c.Decide(at(2), 5); d.To != 5 || !strings.Contains(d.Reason, "holding") {
		t.Fatalf("down within cooldown: %+v", d)
	}
	feed(c, 4, 5, 2)
	if d := c.Decide(at(4), 5); d.To != 5 {
		t.Fatalf("down within cooldown: %+v", d)
	}
	// At 6.5s the recommendation of 5 (at 1s) has left the 5s cooldown;
	// those of 1 remain: down to min.
	feed(c, 6.5, 5, 2)
	if d := c.Decide(at(6.5), 5); d.To != 1 {
		t.Fatalf("down after cooldown: %+v, want 1", d)
	}
}

func TestDecideDownToHighestRecent(t *testing.T) {
	p := &Policy{Min: 1, Max: 10, Metric: "load", Target: 10, Window: time.Second / 2, Cooldown: 5 * time.Second}
	c := NewController("api", p)
	feed(c, 0, 4, 10) // recommends 4
	c.Decide(at(0), 4)
	feed(c, 3, 4, 7.5) // recommends 3
	c.Decide(at(3), 4)
	feed(c, 6, 4, 2.5) // recommends 1; 4 has left the cooldown, 3 remains
	if d := c.Decide(at(6), 4); d.To != 3 || !strings.Contains(d.Reason, "the highest recommended") {
		t.Fatalf("%+v, want 3", d)
	}
}

// A scale that takes a while starts the cooldown when it finishes, not when
// it was decided: the new replicas are held until they have been observed.
func TestCooldownCountsFromFinishedScale(t *testing.T) {
	p := &Policy{Min: 1, Max: 10, Metric: "load", Target: 10, Window: time.Second / 2, Cooldown: 5 * time.Second}
	c := NewController("api", p)
	feed(c, 0, 1, 40)
	if d := c.Decide(at(0), 1); d.To != 4 {
		t.Fatalf("%+v, want 4", d)
	}
	c.Scaled(at(3), 4) // the scale took 3s
	feed(c, 6, 4, 0)
	if d := c.Decide(at(6), 4); d.To != 4 || !strings.Contains(d.Reason, "holding") {
		t.Fatalf("5s after the decision but 3s after the scale finished: %+v, want 4 held", d)
	}
	feed(c, 8.5, 4, 0)
	if d := c.Decide(at(8.5), 4); d.To != 1 {
		t.Fatalf("5.5s after the scale finished: %+v, want 1", d)
	}
}

func TestDecideWithoutObservationsClamps(t *testing.T) {
	c := NewController("api", &Policy{Min: 2, Max: 4, Metric: "x_total", Target: 1, Window: time.Second})
	if d := c.Decide(at(0), 1); d.To != 2 {
		t.Fatalf("%+v, want min", d)
	}
	if d := c.Decide(at(0), 7); d.To != 4 {
		t.Fatalf("%+v, want max", d)
	}
	if d := c.Decide(at(0), 3); d.To != 3 {
		t.Fatalf("%+v, want unchanged", d)
	}
}

// After a scale-up, the window still holds the old replica's high rate;
// counting the service's requests once, over every replica now running,
// keeps the controller from scaling up again for load it has already met.
func TestNoOvershootAfterScaleUp(t *testing.T) {
	p := counterPolicy()
	p.Window, p.Max = 10*time.Second, 10
	c := NewController("api", p)
	for s := 0; s <= 6; s++ {
		c.Observe(at(float64(s)), map[string]float64{"a": float64(30 * s)})
	}
	if d := c.Decide(at(6), 1); d.To != 3 {
		t.Fatalf("30 requests a second on one replica: %+v, want 3", d)
	}
	c.Observe(at(6.5), map[string]float64{"a": 185, "b": 0, "c": 0})
	c.Observe(at(7), map[string]float64{"a": 190, "b": 5, "c": 5})
	if d := c.Decide(at(7), 3); d.To != 3 {
		t.Fatalf("the same 30 a second over 3 replicas: %+v (average %.1f), want 3", d, *d.Value)
	}
}
