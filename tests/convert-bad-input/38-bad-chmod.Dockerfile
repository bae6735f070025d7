FROM busybox:latest
COPY --chmod=u+x a.sh /a.sh
