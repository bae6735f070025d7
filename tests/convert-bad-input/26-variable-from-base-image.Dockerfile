FROM busybox:latest
WORKDIR $HOME/app
