FROM busybox:latest
HEALTHCHECK --interval=1.5 CMD true
