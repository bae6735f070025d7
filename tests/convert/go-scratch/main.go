package main

import (
	"fmt"
	"os"
)

// Set at build time with -ldflags "-X main.greeting=…".
var greeting = "hello"

func main() {
	fmt.Println(greeting)
	if len(os.Args) > 1 {
		fmt.Println("args:", os.Args[1:])
	}
}
