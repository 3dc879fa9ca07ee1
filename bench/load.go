package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of the CPU times in /proc/stat (USER_HZ, 100 on every
// common Linux configuration).
const userHZ = 100

// A cpuSample is how much CPU time the whole machine and the bench (with
// its children) had used at one moment.
type cpuSample struct {
	at      time.Time
	machine time.Duration // busy time of every CPU, from /proc/stat
	ours    time.Duration // user+system time of the bench and its waited-for children
	ok      bool          // /proc/stat could be read
}

// sampleCPU reads the CPU counters.
func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var self, kids syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil && syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids) == nil {
		s.ours = tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
	}
	f, err := os.Open("/proc/stat")
	if err != nil {
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return s
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return s
	}
	// user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
	var busy int64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return s
		}
		busy += n
	}
	s.machine = time.Duration(busy) * time.Second / userHZ
	s.ok = true
	return s
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// Interference is the CPU that other processes used while the bench ran.
type Interference struct {
	Measured   bool    `json:"measured"`    // false where /proc/stat is missing
	Wall       float64 `json:"wall_s"`      // length of the measurement
	OtherCPU   float64 `json:"other_cpu_s"` // CPU-seconds used by other processes
	MachinePct float64 `json:"machine_pct"` // OtherCPU as a share of every CPU's time
}

// interference compares two samples taken around the measurement.
func interference(a, b cpuSample, cpus int) Interference {
	in := Interference{Wall: b.at.Sub(a.at).Seconds()}
	if !a.ok || !b.ok || cpus < 1 || in.Wall <= 0 {
		return in
	}
	other := (b.machine - a.machine) - (b.ours - a.ours)
	in.Measured = true
	in.OtherCPU = max(other.Seconds(), 0)
	in.MachinePct = 100 * in.OtherCPU / (in.Wall * float64(cpus))
	return in
}

// busyThresholdPct is the share of the machine other processes may use
// before the report warns that the timings are inflated.
const busyThresholdPct = 5.0

// String describes the interference for the table.
func (in Interference) String() string {
	if !in.Measured {
		return "machine load: not measured (no /proc/stat)"
	}
	s := fmt.Sprintf("other processes used %.1f CPU-s during the %.0f s of measurement (%.1f%% of the machine)",
		in.OtherCPU, in.Wall, in.MachinePct)
	if in.MachinePct > busyThresholdPct {
		s += "\nWARNING: the machine was busy; timings are inflated and noisy: rerun on an idle machine"
	}
	return s
}
