FROM busybox:latest
ADD https://example.com/org/repo.git#main:docs /docs
