package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds the exposition Scrape reads.
const maxBody = 64 << 20

// accept asks for the text format, which is all Parse reads.
const accept = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

// Scrape GETs target, an http or https URL serving Prometheus metrics in
// the text format, and parses the answer. It gives up after timeout or
// when ctx ends. Errors say whether the URL could not be reached, answered
// with another status than 200, or answered with something else than the
// text format (and on which line).
func Scrape(ctx context.Context, target string, timeout time.Duration) (*Samples, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL; give the full address of the metrics, such as http://127.0.0.1:8080/metrics", target)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return nil, fmt.Errorf("%s did not answer within %s; is the service busy or stopped? Raise timeout if it needs longer", target, timeout)
		}
		return nil, fmt.Errorf("cannot reach %s: %v; is the service running and listening there?", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		msg := fmt.Sprintf("GET %s answered %s, want 200 with metrics in the Prometheus text format", target, resp.Status)
		if body := strings.TrimSpace(string(head)); body != "" {
			msg += fmt.Sprintf(" (body: %q)", body)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	s, err := Parse(target, io.LimitReader(resp.Body, maxBody))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s did not send all its metrics within %s; raise timeout if it needs longer", target, timeout)
	}
	return s, err
}

// unwrapURLError drops the "Get URL:" prefix that repeats the URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
