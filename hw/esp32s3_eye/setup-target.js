/*
 * sealcam target setup for the ESP32-S3-EYE. Moddable preloads "setup/target" on every build for a target;
 * the board needs nothing configured before the application starts (the camera module powers the sensor
 * itself and the app reads pins from the manifest defines), so this only completes the setup chain.
 */
export default function setupTarget(done) {
	if (done)
		done();
}
