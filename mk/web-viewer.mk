# The browser-key web viewer (docs/VIEWER.md): host-tools/web-viewer/page/app.ts bundled by esbuild for the
# browser with the firmware/core code it reuses, plus its HTML and CSS, into dist/web-viewer/. The cloud serves
# that folder at /viewer/ (host-tools/cloud/web-viewer.ts). `typecheck-web-viewer` checks the page's own type
# world (DOM), which the root tsconfig leaves out.
WEB_VIEWER_DIR := dist/web-viewer
WEB_VIEWER_OUT := $(WEB_VIEWER_DIR)/app.js
WEB_VIEWER_SOURCES := $(shell find host-tools/web-viewer firmware/core firmware/platform -name '*.ts' 2>/dev/null) \
  host-tools/phone/share-envelope.ts host-tools/phone/verify-head.ts host-tools/platform/crypto-common.ts host-tools/viewer/shared-clips.ts \
  $(wildcard host-tools/web-viewer/static/*)

$(WEB_VIEWER_OUT): $(NPM_STAMP) $(WEB_VIEWER_SOURCES)
	@mkdir -p $(WEB_VIEWER_DIR)
	npx esbuild host-tools/web-viewer/page/app.ts --bundle --platform=browser --format=esm --target=es2022 \
	  --log-level=warning --legal-comments=none --outfile=$@
	cp host-tools/web-viewer/static/index.html host-tools/web-viewer/static/viewer.css $(WEB_VIEWER_DIR)/
BUILD_TARGETS += $(WEB_VIEWER_OUT)

.PHONY: typecheck-web-viewer
typecheck-web-viewer: $(NPM_STAMP)
	npx tsc --noEmit -p host-tools/web-viewer/page/tsconfig.json
TEST_TARGETS += typecheck-web-viewer
