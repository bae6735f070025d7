# escape=`
# escape=\
FROM busybox:latest
