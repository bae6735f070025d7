FROM busybox:latest AS a
ARG VERSION=1
FROM busybox:latest AS b
ARG VERSION=2
