FROM busybox:latest
RUN --network=none --network=default true
