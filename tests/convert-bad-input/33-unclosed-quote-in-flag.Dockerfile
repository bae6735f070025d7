FROM busybox:latest
COPY --chown="1000 a.txt /a.txt
