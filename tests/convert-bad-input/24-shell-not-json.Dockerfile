FROM busybox:latest
SHELL /bin/bash -c
