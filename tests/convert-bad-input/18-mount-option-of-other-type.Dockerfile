FROM busybox:latest
RUN --mount=type=tmpfs,target=/t,id=x ls
