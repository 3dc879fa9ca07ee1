FROM scratch AS final
USER 65534
