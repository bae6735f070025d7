FROM busybox:latest
RUN --network=bridge echo hi
