// Command hello prints a greeting and the version it was built with.
package main

import (
	"fmt"
	"os"

	"example.com/hello/greet"
)

var version = "dev"

func main() {
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("%s (v%s)\n", greet.Hello(name), version)
}
