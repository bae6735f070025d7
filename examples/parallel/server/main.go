// The server answers every request with a greeting.
package main

import (
	"fmt"
	"log"
	"net/http"
)

var version = "dev"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from server %s\n", version)
	})
	log.Printf("server %s listening on :8080", version)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
