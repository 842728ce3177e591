package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress draws a one-line progress bar on a terminal, and nothing elsewhere, so that
// logs and pipes receive only the results.
type progress struct {
	w              io.Writer // nil when not a terminal
	total, started int
}

func newProgress(w io.Writer, total int) *progress {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return &progress{w: w, total: total}
		}
	}
	return &progress{total: total}
}

// step draws the bar with one more step started, named what.
func (p *progress) step(what string) {
	if p.w == nil {
		return
	}
	const width = 30
	filled := width * p.started / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %-28s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.started, p.total, what)
	p.started++
}

// clear erases the bar, so that a line written to a terminal it shares starts clean;
// the next step draws it again.
func (p *progress) clear() {
	if p.w != nil {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 80))
	}
}
