FROM busybox:latest
COPY --chmown=1000 a.txt /a.txt
