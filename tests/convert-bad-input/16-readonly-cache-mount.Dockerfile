FROM busybox:latest
RUN --mount=type=cache,target=/cache,ro ls /cache
