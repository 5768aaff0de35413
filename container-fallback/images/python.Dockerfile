# shoal's Python runtime image for the test suite: Debian's python3 and shoal's action proxy.
FROM shoal/base:bookworm
ENV SHOAL_PROXY_MODE=python PYTHONUNBUFFERED=1
COPY proxy/shoal_proxy.py /proxy/shoal_proxy.py
EXPOSE 8080
# shoal waits for the log sentinels its proxy prints after each activation.
LABEL shoal.log-sentinels=true
CMD ["python3", "/proxy/shoal_proxy.py"]
