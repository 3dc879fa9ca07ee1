package cireport

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
)

func TestReportWrite(t *testing.T) {
	r := &Report{Name: "ferry ci", Time: Seconds(1500 * time.Millisecond), Suites: []Suite{
		{Name: "security checks", Cases: []Case{
			{Name: "FERRY-DF004 app/Dockerfile:2", Classname: "security", File: "app/Dockerfile", Line: 2, Failure: &Failure{Message: "ENV <PASSWORD> & co", Type: "FERRY-DF004", Text: "fix: pass secrets at run time"}},
			{Name: "FERRY-SV003 ferry.star:3", Classname: "security"},
		}},
		{Name: "stage 1: a, b", Time: Seconds(time.Second), Cases: []Case{
			{Name: "a", Classname: "stage 1", Time: Seconds(1234 * time.Millisecond)},
			{Name: "b", Classname: "stage 1", Properties: Props("outcome", "cached"), SystemOut: "up to date"},
			{Name: "c", Classname: "stage 1", Failure: &Failure{Message: "exit status 1", Text: "line 1\nline \x01 2"}},
			{Name: "d", Classname: "stage 1", Skipped: &Skipped{Message: "dep c did not succeed"}},
		}},
	}}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, xml.Header) {
		t.Errorf("no XML header:\n%s", out)
	}
	for _, want := range []string{
		`<testsuites name="ferry ci" tests="6" failures="2" skipped="1" time="1.500">`,
		`<testsuite name="stage 1: a, b" tests="4" failures="1" skipped="1" time="1.000">`,
		`<testcase name="a" classname="stage 1" time="1.234">`,
		`message="ENV &lt;PASSWORD&gt; &amp; co"`,
		`file="app/Dockerfile" line="2"`,
		`<property name="outcome" value="cached"></property>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<properties></properties>") {
		t.Errorf("a case without properties has an empty <properties>:\n%s", out)
	}
	var back Report
	if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, out)
	}
	if len(back.Suites) != 2 || back.Tests != 6 || back.Suites[1].Cases[0].Time != Seconds(1234*time.Millisecond) {
		t.Errorf("parsed back: %+v", back)
	}
	c := back.Suites[1].Cases[2]
	if c.Failure == nil || c.Failure.Message != "exit status 1" || c.Failure.Text != "line 1\nline \uFFFD 2" {
		t.Errorf("failure parsed back: %+v", c.Failure)
	}
	if d := back.Suites[1].Cases[3]; d.Skipped == nil || d.Skipped.Message != "dep c did not succeed" {
		t.Errorf("skipped parsed back: %+v", d.Skipped)
	}
}

func TestAnnotationEscaping(t *testing.T) {
	for _, tc := range []struct {
		a    Annotation
		want string
	}{
		{Annotation{Level: "error", File: "app/Dockerfile", Line: 3, Title: "FERRY-DF004", Message: "ENV PASSWORD bakes a secret"},
			"::error file=app/Dockerfile,line=3,title=FERRY-DF004::ENV PASSWORD bakes a secret"},
		{Annotation{Level: "warning", File: "a,b:c.star", Line: 1, Col: 2, Title: "x: y, 100%", Message: "50% done\r\nnext: a, b"},
			"::warning file=a%2Cb%3Ac.star,line=1,col=2,title=x%3A y%2C 100%25::50%25 done%0D%0Anext: a, b"},
		{Annotation{Level: "error", Title: "rule test", Message: "exit status 1"}, "::error title=rule test::exit status 1"},
		{Annotation{Level: "notice", Message: "plain"}, "::notice::plain"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	if got := Group("stage 1: a, b\n%"); got != "::group::stage 1: a, b%0A%25" {
		t.Errorf("group: %s", got)
	}
}

func TestRecorder(t *testing.T) {
	r := NewRecorder()
	r.Handle(engine.Event{Kind: engine.EventLog, Text: "not a rule's"})
	r.Handle(engine.Event{Kind: engine.EventRuleStart, Rule: "a"})
	for i := range TailLines + 5 {
		r.Handle(engine.Event{Kind: engine.EventOutput, Rule: "a", Text: fmt.Sprint("line ", i)})
	}
	r.Handle(engine.Event{Kind: engine.EventPrint, Rule: "a", Text: "printed"})
	r.Handle(engine.Event{Kind: engine.EventRuleFail, Rule: "a", Err: "exit status 2", Duration: time.Second})
	r.Handle(engine.Event{Kind: engine.EventCached, Rule: "b"})
	r.Handle(engine.Event{Kind: engine.EventSkipped, Rule: "c", Reason: "dep a did not succeed"})
	r.Handle(engine.Event{Kind: engine.EventRuleDone, Rule: "d", Duration: 2 * time.Second})
	// A service fails on an unhealthy health or a crash loop, and on
	// nothing else that happens to it.
	r.Handle(engine.Event{Kind: engine.EventServiceHealth, Reason: "not healthy", Service: &engine.ServiceState{Name: "d", Health: "unhealthy"}})
	r.Handle(engine.Event{Kind: engine.EventRuleDone, Rule: "e", Duration: time.Second})
	r.Handle(engine.Event{Kind: engine.EventServiceHealth, Service: &engine.ServiceState{Name: "e", Health: "healthy"}})
	r.Handle(engine.Event{Kind: engine.EventServiceRestart, Service: &engine.ServiceState{Name: "e", Replica: "e-1", Restarts: 1}})
	r.Handle(engine.Event{Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: "f", Replicas: &engine.ReplicaCount{}}})
	r.Handle(engine.Event{Kind: engine.EventRuleDone, Rule: "g", Duration: time.Second})
	r.Handle(engine.Event{Kind: engine.EventServiceCrashLoop, Level: engine.LevelError, Text: "g-1 is in a crash loop; its last lines", Reason: "g-1 is in a crash loop: restarted 3 times, last exit code 3",
		Service: &engine.ServiceState{Name: "g", Replica: "g-1", Restarts: 3, Exit: &engine.ExitState{Code: 3}}})

	res := r.Results()
	if len(res) != 6 || res[0].Name != "a" || res[3].Name != "d" || res[4].Name != "e" || res[5].Name != "g" {
		t.Fatalf("results: %+v", res)
	}
	a := res[0]
	if a.Outcome != OutcomeFailed || a.Err != "exit status 2" || a.Duration != time.Second || len(a.Output) != TailLines || a.Output[0] != "line 6" || a.Output[TailLines-1] != "printed" {
		t.Errorf("a: %+v", a)
	}
	if res[1].Outcome != OutcomeCached || res[2].Outcome != OutcomeSkipped || res[2].Reason != "dep a did not succeed" {
		t.Errorf("b, c: %+v %+v", res[1], res[2])
	}
	if d := res[3]; d.Outcome != OutcomeFailed || d.Err != "not healthy" || d.Failure != engine.EventServiceHealth || d.Duration != 2*time.Second {
		t.Errorf("d: %+v", d)
	}
	if e := res[4]; e.Outcome != OutcomeRan || e.Err != "" {
		t.Errorf("e: %+v", e)
	}
	if g := res[5]; g.Outcome != OutcomeFailed || g.Err != "g-1 is in a crash loop: restarted 3 times, last exit code 3" || g.Failure != engine.EventServiceCrashLoop {
		t.Errorf("g: %+v", g)
	}
	if r.Result("zzz").Outcome != "" {
		t.Error("an unknown rule has an outcome")
	}
	r.Reset()
	if len(r.Results()) != 0 {
		t.Error("Reset kept results")
	}
}
