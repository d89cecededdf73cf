package org.seerjava.tornado;

import java.util.Locale;

/**
 * Whether TornadoVM can run here, found once: installed ({@code TORNADOVM_HOME}), launched with its JVM arguments
 * (its runtime module in the boot layer), and its runtime started with a device (TornadoVM's own error otherwise,
 * e.g. {@code libcuda.so.1: cannot open shared object file} on a machine without an NVIDIA driver). The first two
 * checks use the JDK only, so they also answer when TornadoVM's jars are not on the module path at all.
 */
public final class TornadoRuntimeStatus {
    /** How to launch with TornadoVM's JVM arguments. */
    public static final String ARGFILE_HINT = "java @ARGFILE …, ARGFILE being $TORNADOVM_HOME/tornado-argfile.template"
            + " with ${TORNADOVM_HOME} filled in (the SDK's `tornado` script and ./seer do this)";

    private static volatile String reason;
    private static volatile boolean probed;

    private TornadoRuntimeStatus() {
    }

    /** Why TornadoVM cannot run here, or null when it can. Never throws. */
    public static String unavailableReason() {
        if (!probed) {
            synchronized (TornadoRuntimeStatus.class) {
                if (!probed) {
                    reason = probe();
                    probed = true;
                }
            }
        }
        return reason;
    }

    /** Throws {@link IllegalStateException} with the reason when TornadoVM cannot run here. */
    public static void require() {
        String why = unavailableReason();
        if (why != null) {
            throw new IllegalStateException("the tornado engine cannot run here: " + why);
        }
    }

    private static String probe() {
        String launch = launchProblem();
        if (launch != null) {
            return launch;
        }
        try {
            return Device.start();
        } catch (Throwable t) {                 // TornadoVM reports start-up failures as linkage and runtime errors
            return "TornadoVM could not start: " + rootMessage(t);
        }
    }

    /** Not installed, or not launched with TornadoVM's JVM arguments; null when both are fine. */
    static String launchProblem() {
        boolean launched = ModuleLayer.boot().findModule("tornado.runtime").isPresent()
                && System.getProperty("tornado.load.runtime.implementation") != null;
        if (launched) {
            return null;
        }
        String home = System.getenv("TORNADOVM_HOME");
        if (home == null || home.isBlank()) {
            return "TornadoVM is not installed: set TORNADOVM_HOME to a TornadoVM 5.2.0-jdk25 SDK (README, section "
                    + "TornadoVM) and launch with its JVM arguments";
        }
        return "this JVM was not launched with TornadoVM's JVM arguments (TORNADOVM_HOME=" + home + "): run "
                + ARGFILE_HINT;
    }

    /** The innermost non-empty message of a cause chain (the library that did not load, the driver's error). */
    static String rootMessage(Throwable t) {
        String message = t.toString();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                message = c.getMessage();
            }
        }
        return message;
    }

    /** The default device, touched only once the launch checks passed (it loads TornadoVM's classes). */
    static final class Device {
        private static uk.ac.manchester.tornado.api.common.TornadoDevice device;

        private Device() {
        }

        static String start() {
            // TornadoVM reads its settings when its runtime starts: leave room for long sequences (default 4 GB).
            if (System.getProperty("tornado.device.memory") == null) {
                System.setProperty("tornado.device.memory", "64GB");
            }
            var runtime = uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime();
            if (runtime.getNumBackends() == 0) {
                return "TornadoVM started but found no backend";
            }
            var d = runtime.getDefaultDevice();
            if (d == null) {
                return "TornadoVM started but has no default device";
            }
            device = d;
            return null;
        }

        /** The default device; TornadoVM must be available. */
        static uk.ac.manchester.tornado.api.common.TornadoDevice get() {
            require();
            return device;
        }
    }

    /** "NVIDIA H200, PTX backend, 139.8 GB, TornadoVM 5.2.0-jdk25"; TornadoVM must be available. */
    public static String describeDevice() {
        var d = Device.get();
        String version = ModuleLayer.boot().findModule("tornado.api")
                .flatMap(m -> m.getDescriptor().rawVersion()).orElse("(version unknown)");
        return d.getPhysicalDevice().getDeviceName() + ", " + d.getTornadoVMBackend() + " backend, "
                + String.format(Locale.ROOT, "%.1f GB", d.getPhysicalDevice().getDeviceGlobalMemorySize() / 1e9)
                + ", TornadoVM " + version;
    }

    /** The TornadoVM backend of the default device, e.g. PTX; TornadoVM must be available. */
    public static String backend() {
        return String.valueOf(Device.get().getTornadoVMBackend());
    }
}
