FROM busybox:latest
ADD app.tar.gz /opt/
