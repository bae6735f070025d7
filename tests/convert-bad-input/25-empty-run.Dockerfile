FROM busybox:latest
RUN
