// Package greet makes greetings.
package greet

import "fmt"

// Hello greets name.
func Hello(name string) string { return fmt.Sprintf("hello, %s", name) }
