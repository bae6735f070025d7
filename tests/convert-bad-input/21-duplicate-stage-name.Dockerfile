FROM busybox:latest AS app
FROM busybox:latest AS app
