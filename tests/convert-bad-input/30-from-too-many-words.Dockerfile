FROM busybox:latest AS app extra
