# The camera application (firmware/camera) and its setup channel: `make test-camera` runs just their tests
# (they are also part of `make test`, which runs every jest file).
.PHONY: test-camera
test-camera: $(NPM_STAMP)
	npx jest test/camera
