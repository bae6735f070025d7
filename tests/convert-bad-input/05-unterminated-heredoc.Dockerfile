FROM busybox:latest
RUN <<EOF
echo never ends
