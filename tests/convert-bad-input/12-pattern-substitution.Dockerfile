FROM scratch
ENV FILE=archive.tar.gz
ENV BASE=${FILE%.tar.gz}
