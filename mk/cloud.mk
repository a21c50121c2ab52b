# The cloud server, for a manual walkthrough: `make cloud` serves on 127.0.0.1:$(CLOUD_PORT) with data under
# $(CLOUD_DATA). Phones: bin/sealcam phone enroll --home DIR --cloud http://127.0.0.1:$(CLOUD_PORT) ...
CLOUD_PORT ?= 8080
CLOUD_DATA ?= .sim/cloud

.PHONY: cloud
cloud: build
	bin/sealcam cloud serve --port $(CLOUD_PORT) --data $(CLOUD_DATA)
