FORM busybox:latest
