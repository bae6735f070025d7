ARG MAJOR=1
ARG FULL=${MAJOR}.0
FROM busybox:latest
