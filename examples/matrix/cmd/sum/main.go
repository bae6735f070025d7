// sum adds its arguments, and says which architecture did the sum.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

func main() {
	total := 0
	for _, arg := range os.Args[1:] {
		n, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sum: not a number:", arg)
			os.Exit(2)
		}
		total += n
	}
	fmt.Printf("%d (%s)\n", total, runtime.GOARCH)
}
