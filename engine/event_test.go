package engine

import (
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

func TestBusRedactsEvents(t *testing.T) {
	r := redact.New()
	var got []Event
	b := NewBus(SinkFunc(func(e Event) { got = append(got, e) }))
	b.Redact(r)
	if err := r.Add("tok", "value-of-the-token"); err != nil {
		t.Fatal(err)
	}
	b.Emit(Event{Kind: EventOutput, Text: "token=value-of-the-token", Err: "bad value-of-the-token", Reason: "value-of-the-token changed"})
	e := got[0]
	if e.Text != "token=[redacted tok]" || e.Err != "bad [redacted tok]" || e.Reason != "[redacted tok] changed" {
		t.Fatalf("got %+v", e)
	}
}
