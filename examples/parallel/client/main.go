// The client asks the server for a greeting.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

var version = "dev"

func main() {
	url := "http://127.0.0.1:8080/"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("client %s got: %s", version, body)
}
