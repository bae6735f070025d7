FROM busybox:latest
COPY a.txt
