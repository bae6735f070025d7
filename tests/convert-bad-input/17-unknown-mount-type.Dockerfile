FROM busybox:latest
RUN --mount=type=volume,target=/v ls
