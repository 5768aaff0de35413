# A "blackbox" image: an executable action baked in at /action/exec, served by shoal's proxy.
FROM shoal/base:bookworm
ENV SHOAL_PROXY_MODE=exec PYTHONUNBUFFERED=1
COPY proxy/shoal_proxy.py /proxy/shoal_proxy.py
COPY images/blackbox/exec /action/exec
EXPOSE 8080
# shoal waits for the log sentinels its proxy prints after each activation.
LABEL shoal.log-sentinels=true
CMD ["python3", "/proxy/shoal_proxy.py"]
