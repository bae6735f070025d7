FROM busybox:latest
CMD ["echo", 1]
