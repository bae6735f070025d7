FROM busybox:latest
EXPOSE 99999
