FROM busybox:latest
WORKDIR app
