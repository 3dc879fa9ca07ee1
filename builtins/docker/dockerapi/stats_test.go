package dockerapi

import (
	"math"
	"os"
	"testing"
)

// testdata/stats-spin.json is five frames of `GET /containers/ID/stats`
// (streaming) from a FROM scratch container that spins 50 ms and sleeps
// 50 ms, on a 2-CPU host.
func TestCPUPercentFromRecordedFrames(t *testing.T) {
	f, err := os.Open("testdata/stats-spin.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var frames []CPUFrame
	if err := DecodeCPU(f, func(fr CPUFrame) { frames = append(frames, fr) }); err != nil {
		t.Fatal(err)
	}
	if len(frames) != 5 {
		t.Fatalf("%d frames, want 5", len(frames))
	}
	if _, ok := frames[0].Percent(); ok {
		t.Error("the first frame of a stream has no previous sample, yet gave a figure")
	}
	// (total - pretotal) / (system - presystem) × online CPUs × 100
	want := []float64{
		(1451474201 - 1036368995) / float64(18597430000000-18595470000000) * 2 * 100,
		(1900269115 - 1451474201) / float64(18599400000000-18597430000000) * 2 * 100,
		(2297821765 - 1900269115) / float64(18601370000000-18599400000000) * 2 * 100,
		(2697185628 - 2297821765) / float64(18603390000000-18601370000000) * 2 * 100,
	}
	for i, w := range want {
		got, ok := frames[i+1].Percent()
		if !ok || math.Abs(got-w) > 1e-9 {
			t.Errorf("frame %d: %v%% (ok %v), want %v%%", i+1, got, ok, w)
		}
		// Half the time spinning: about half a core.
		if got < 30 || got > 60 {
			t.Errorf("frame %d: %.1f%%, want about 50%% of one core", i+1, got)
		}
	}
	if frames[1].Read.Sub(frames[0].Read).Seconds() < 0.5 {
		t.Errorf("frames %v and %v, want about a second apart", frames[0].Read, frames[1].Read)
	}
}

func TestCPUPercentNeedsTwoSamples(t *testing.T) {
	for _, f := range []CPUFrame{
		{Total: 10, System: 100, OnlineCPUs: 2},                              // no previous sample
		{Total: 10, PreTotal: 5, System: 100, PreSystem: 100, OnlineCPUs: 2}, // no host time passed
		{Total: 10, PreTotal: 5, System: 200, PreSystem: 100, OnlineCPUs: 0}, // no CPU count
		{Total: 3, PreTotal: 5, System: 200, PreSystem: 100, OnlineCPUs: 2},  // counter went back
	} {
		if p, ok := f.Percent(); ok {
			t.Errorf("%+v: %v%%, want no figure", f, p)
		}
	}
}
