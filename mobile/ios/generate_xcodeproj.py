"""Writes DistilKitQA.xcodeproj (project.pbxproj + a shared scheme) for the iOS app.

    python mobile/ios/generate_xcodeproj.py           # rewrite the project
    python mobile/ios/generate_xcodeproj.py --check   # exit 1 if the committed project is stale

XcodeGen needs a Mac; this writes the same OpenStep plist Xcode does, with object ids derived
from names (stable diffs). The app links the local QACore package (tested here with
`swift test`) and ExecuTorch's published Swift package; Core ML comes with iOS.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "DistilKitQA.xcodeproj"
APP, TESTS = "DistilKitQA", "DistilKitQATests"
# The default of DISTILKIT_BUNDLE_ID. A bundle id belongs to the first team that registers it, so
# pipeline/devices/device_ios.py passes DISTILKIT_BUNDLE_ID=<yours> (default org.distilkit.qa.<team id>).
BUNDLE_ID = "org.distilkit.qa"
EXECUTORCH_URL = "https://github.com/pytorch/executorch"
# The exporter is executorch 1.5.1, which has no Swift package branch; 1.5.0 reads its programs
# (mobile/README.md, "Runtime versions"). tests/test_mobile_pins.py keeps this, execuTorchVersion in
# ExecuTorchQAModel.swift and pyproject.toml in step.
EXECUTORCH_BRANCH = "swiftpm-1.5.0"
# Runtime, the XNNPACK and Core ML delegates and the CPU kernels the exported programs call.
EXECUTORCH_PRODUCTS = ["executorch", "backend_xnnpack", "backend_coreml", "kernels_optimized", "kernels_quantized"]
APP_SOURCES = ["DistilKitQAApp.swift", "ContentView.swift", "Backends.swift", "CoreMLQAModel.swift",
               "ExecuTorchQAModel.swift", "BenchmarkMode.swift", "AppleDevice.swift"]
# What the test target's `@testable import DistilKitQA` needs to find the modules DistilKitQA imports.
# Dependencies only, not linked: the test bundle loads into the app (BUNDLE_LOADER), which links them;
# linking the static ExecuTorch libraries twice would register its kernels and backends twice.
TEST_PACKAGE_PRODUCTS = [("QACore", "QACore"), ("executorch", "executorch")]
TEST_SOURCES = ["BenchmarkTests.swift"]


def oid(*parts: str) -> str:
    return hashlib.md5("/".join(parts).encode()).hexdigest()[:24].upper()


def q(v) -> str:
    """A plist scalar: bare when safe, quoted otherwise."""
    s = str(v)
    if s and all(c.isalnum() or c in "._/" for c in s):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(v, indent: int) -> str:
    pad = "\t" * indent
    if isinstance(v, dict):
        body = "".join(f"{pad}\t{q(k)} = {render(x, indent + 1)};\n" for k, x in v.items())
        return "{\n" + body + pad + "}"
    if isinstance(v, list):
        return "(\n" + "".join(f"{pad}\t{render(x, indent + 1)},\n" for x in v) + pad + ")"
    return q(v)


def build_settings(target: str, config: str) -> dict:
    debug = config == "Debug"
    if target == "project":
        return {"ALWAYS_SEARCH_USER_PATHS": "NO", "CLANG_ENABLE_MODULES": "YES", "DISTILKIT_BUNDLE_ID": BUNDLE_ID,
                "ENABLE_TESTABILITY": "YES" if debug else "NO",
                "IPHONEOS_DEPLOYMENT_TARGET": "17.0", "SDKROOT": "iphoneos", "SWIFT_VERSION": "5.0",
                "SWIFT_OPTIMIZATION_LEVEL": "-Onone" if debug else "-O",
                "SWIFT_ACTIVE_COMPILATION_CONDITIONS": "DEBUG" if debug else "", "ONLY_ACTIVE_ARCH": "YES" if debug else "NO",
                # ExecuTorch's xcframeworks have arm64 slices only; Release builds every architecture
                # (ONLY_ACTIVE_ARCH NO), so a Simulator build would try x86_64 and fail to link.
                "EXCLUDED_ARCHS[sdk=iphonesimulator*]": "x86_64"}
    common = {"CODE_SIGN_STYLE": "Automatic", "CURRENT_PROJECT_VERSION": "1", "MARKETING_VERSION": "0.1.0",
              "GENERATE_INFOPLIST_FILE": "YES", "TARGETED_DEVICE_FAMILY": "1,2"}
    if target == APP:
        return {**common, "PRODUCT_BUNDLE_IDENTIFIER": "$(DISTILKIT_BUNDLE_ID)", "PRODUCT_NAME": "$(TARGET_NAME)",
                # The scheme tests the Release build (benchmark timings with optimised code), and
                # BenchmarkTests' @testable import needs the app compiled for testing.
                "ENABLE_TESTABILITY": "YES",
                "INFOPLIST_KEY_CFBundleDisplayName": "DistilKit QA",
                "ASSETCATALOG_COMPILER_APPICON_NAME": "AppIcon",  # Assets.xcassets: one 1024-point image
                "INFOPLIST_KEY_UIApplicationSceneManifest_Generation": "YES",
                "INFOPLIST_KEY_UILaunchScreen_Generation": "YES",
                # An iPad app must list its orientations (all four for multitasking); the iPhone, all but upside down.
                "INFOPLIST_KEY_UISupportedInterfaceOrientations_iPhone":
                    "UIInterfaceOrientationPortrait UIInterfaceOrientationLandscapeLeft UIInterfaceOrientationLandscapeRight",
                "INFOPLIST_KEY_UISupportedInterfaceOrientations_iPad":
                    "UIInterfaceOrientationPortrait UIInterfaceOrientationPortraitUpsideDown "
                    "UIInterfaceOrientationLandscapeLeft UIInterfaceOrientationLandscapeRight",
                # Documents visible in Files / Finder, where benchmark results land.
                "INFOPLIST_KEY_UIFileSharingEnabled": "YES", "INFOPLIST_KEY_LSSupportsOpeningDocumentsInPlace": "YES",
                # ExecuTorch backends and kernels register themselves in static initialisers.
                "OTHER_LDFLAGS": ["$(inherited)", "-all_load"],
                "LD_RUNPATH_SEARCH_PATHS": ["$(inherited)", "@executable_path/Frameworks"]}
    return {**common, "PRODUCT_BUNDLE_IDENTIFIER": "$(DISTILKIT_BUNDLE_ID).tests", "PRODUCT_NAME": "$(TARGET_NAME)",
            "BUNDLE_LOADER": "$(TEST_HOST)", "TEST_HOST": f"$(BUILT_PRODUCTS_DIR)/{APP}.app/$(BUNDLE_EXECUTABLE_FOLDER_PATH)/{APP}"}


def objects() -> tuple[dict, str]:
    o: dict[str, dict] = {}

    def add(key: tuple, obj: dict) -> str:
        i = oid(*key)
        o[i] = obj
        return i

    def config_list(owner: str) -> str:
        ids = [add(("config", owner, c), {"isa": "XCBuildConfiguration", "buildSettings": build_settings(owner, c), "name": c})
               for c in ("Debug", "Release")]
        return add(("configlist", owner), {"isa": "XCConfigurationList", "buildConfigurations": ids,
                                          "defaultConfigurationIsVisible": "0", "defaultConfigurationName": "Release"})

    def file_ref(group: str, name: str, ftype: str) -> str:
        return add(("file", group, name), {"isa": "PBXFileReference", "lastKnownFileType": ftype, "path": name,
                                           "sourceTree": "<group>"})

    app_files = {n: file_ref(APP, n, "sourcecode.swift") for n in APP_SOURCES}
    models = file_ref(APP, "Models", "folder")
    assets = file_ref(APP, "Assets.xcassets", "folder.assetcatalog")
    test_files = {n: file_ref(TESTS, n, "sourcecode.swift") for n in TEST_SOURCES}
    app_product = add(("product", APP), {"isa": "PBXFileReference", "explicitFileType": "wrapper.application",
                                         "includeInIndex": "0", "path": f"{APP}.app", "sourceTree": "BUILT_PRODUCTS_DIR"})
    test_product = add(("product", TESTS), {"isa": "PBXFileReference", "explicitFileType": "wrapper.cfbundle",
                                            "includeInIndex": "0", "path": f"{TESTS}.xctest", "sourceTree": "BUILT_PRODUCTS_DIR"})
    products = add(("group", "Products"), {"isa": "PBXGroup", "children": [app_product, test_product],
                                           "name": "Products", "sourceTree": "<group>"})
    app_group = add(("group", APP), {"isa": "PBXGroup", "children": [*app_files.values(), models, assets], "path": APP,
                                     "sourceTree": "<group>"})
    test_group = add(("group", TESTS), {"isa": "PBXGroup", "children": list(test_files.values()), "path": TESTS,
                                        "sourceTree": "<group>"})
    main_group = add(("group", "main"), {"isa": "PBXGroup", "children": [app_group, test_group, products],
                                         "sourceTree": "<group>"})

    local_pkg = add(("package", "QACore"), {"isa": "XCLocalSwiftPackageReference", "relativePath": "QACore"})
    remote_pkg = add(("package", "executorch"), {"isa": "XCRemoteSwiftPackageReference", "repositoryURL": EXECUTORCH_URL,
                                                 "requirement": {"branch": EXECUTORCH_BRANCH, "kind": "branch"}})
    product_deps = [add(("productdep", "QACore"), {"isa": "XCSwiftPackageProductDependency", "package": local_pkg,
                                                    "productName": "QACore"})]
    product_deps += [add(("productdep", p), {"isa": "XCSwiftPackageProductDependency", "package": remote_pkg,
                                             "productName": p}) for p in EXECUTORCH_PRODUCTS]

    packages = {"QACore": local_pkg, "executorch": remote_pkg}
    test_product_deps = [add(("productdep", TESTS, p), {"isa": "XCSwiftPackageProductDependency", "package": packages[pkg],
                                                         "productName": p}) for p, pkg in TEST_PACKAGE_PRODUCTS]

    def build_file(target: str, ref: str, key: str = "fileRef") -> str:
        return add(("buildfile", target, ref), {"isa": "PBXBuildFile", key: ref})

    app_phases = [
        add(("phase", APP, "sources"), {"isa": "PBXSourcesBuildPhase", "buildActionMask": "2147483647",
                                        "files": [build_file(APP, r) for r in app_files.values()],
                                        "runOnlyForDeploymentPostprocessing": "0"}),
        add(("phase", APP, "frameworks"), {"isa": "PBXFrameworksBuildPhase", "buildActionMask": "2147483647",
                                           "files": [build_file(APP, d, "productRef") for d in product_deps],
                                           "runOnlyForDeploymentPostprocessing": "0"}),
        add(("phase", APP, "resources"), {"isa": "PBXResourcesBuildPhase", "buildActionMask": "2147483647",
                                          "files": [build_file(APP, models), build_file(APP, assets)],
                                          "runOnlyForDeploymentPostprocessing": "0"}),
    ]
    app_target = add(("target", APP), {
        "isa": "PBXNativeTarget", "buildConfigurationList": config_list(APP), "buildPhases": app_phases,
        "buildRules": [], "dependencies": [], "name": APP, "packageProductDependencies": product_deps,
        "productName": APP, "productReference": app_product, "productType": "com.apple.product-type.application"})
    root = oid("project")
    proxy = add(("proxy", TESTS), {"isa": "PBXContainerItemProxy", "containerPortal": root, "proxyType": "1",
                                   "remoteGlobalIDString": app_target, "remoteInfo": APP})
    dependency = add(("dependency", TESTS), {"isa": "PBXTargetDependency", "target": app_target, "targetProxy": proxy})
    test_phases = [
        add(("phase", TESTS, "sources"), {"isa": "PBXSourcesBuildPhase", "buildActionMask": "2147483647",
                                          "files": [build_file(TESTS, r) for r in test_files.values()],
                                          "runOnlyForDeploymentPostprocessing": "0"}),
        add(("phase", TESTS, "frameworks"), {"isa": "PBXFrameworksBuildPhase", "buildActionMask": "2147483647",
                                             "files": [], "runOnlyForDeploymentPostprocessing": "0"}),
    ]
    test_target = add(("target", TESTS), {
        "isa": "PBXNativeTarget", "buildConfigurationList": config_list(TESTS), "buildPhases": test_phases,
        "buildRules": [], "dependencies": [dependency], "name": TESTS, "packageProductDependencies": test_product_deps,
        "productName": TESTS,
        "productReference": test_product, "productType": "com.apple.product-type.bundle.unit-test"})
    o[root] = {"isa": "PBXProject",
               "attributes": {"BuildIndependentTargetsInParallel": "1", "LastSwiftUpdateCheck": "1600",
                              "LastUpgradeCheck": "1600",
                              "TargetAttributes": {app_target: {"CreatedOnToolsVersion": "16.0"},
                                                   test_target: {"CreatedOnToolsVersion": "16.0", "TestTargetID": app_target}}},
               "buildConfigurationList": config_list("project"), "compatibilityVersion": "Xcode 14.0",
               "developmentRegion": "en", "hasScannedForEncodings": "0", "knownRegions": ["en", "Base"],
               "mainGroup": main_group, "packageReferences": [local_pkg, remote_pkg], "productRefGroup": products,
               "projectDirPath": "", "projectRoot": "", "targets": [app_target, test_target]}
    return o, root


def pbxproj() -> str:
    objs, root = objects()
    by_isa: dict[str, list] = {}
    for i, obj in objs.items():
        by_isa.setdefault(obj["isa"], []).append(i)
    out = ["// !$*UTF8*$!\n{\n\tarchiveVersion = 1;\n\tclasses = {\n\t};\n\tobjectVersion = 60;\n\tobjects = {\n"]
    for isa in sorted(by_isa):
        out.append(f"\n/* Begin {isa} section */\n")
        for i in sorted(by_isa[isa]):
            out.append(f"\t\t{i} = {render(objs[i], 2)};\n")
        out.append(f"/* End {isa} section */\n")
    out.append(f"\t}};\n\trootObject = {root};\n}}\n")
    return "".join(out)


def scheme() -> str:
    objs, _ = objects()
    app, tests = oid("target", APP), oid("target", TESTS)

    def ref(i, name, product):
        return (f'<BuildableReference BuildableIdentifier = "primary" BlueprintIdentifier = "{i}" '
                f'BuildableName = "{product}" BlueprintName = "{name}" ReferencedContainer = "container:{APP}.xcodeproj"/>')
    app_ref, test_ref = ref(app, APP, f"{APP}.app"), ref(tests, TESTS, f"{TESTS}.xctest")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Scheme LastUpgradeVersion = "1600" version = "1.7">
   <BuildAction parallelizeBuildables = "YES" buildImplicitDependencies = "YES">
      <BuildActionEntries>
         <BuildActionEntry buildForTesting = "YES" buildForRunning = "YES" buildForProfiling = "YES" buildForArchiving = "YES" buildForAnalyzing = "YES">
            {app_ref}
         </BuildActionEntry>
      </BuildActionEntries>
   </BuildAction>
   <TestAction buildConfiguration = "Release" selectedDebuggerIdentifier = "" selectedLauncherIdentifier = "Xcode.IDEFoundation.Launcher.PosixSpawn" shouldUseLaunchSchemeArgsEnv = "YES">
      <Testables>
         <TestableReference skipped = "NO">
            {test_ref}
         </TestableReference>
      </Testables>
   </TestAction>
   <LaunchAction buildConfiguration = "Release" selectedDebuggerIdentifier = "" selectedLauncherIdentifier = "Xcode.IDEFoundation.Launcher.PosixSpawn" launchStyle = "0" useCustomWorkingDirectory = "NO" ignoresPersistentStateOnLaunch = "NO" debugDocumentVersioning = "YES" debugServiceExtension = "internal" allowLocationSimulation = "YES">
      <BuildableProductRunnable runnableDebuggingMode = "0">
         {app_ref}
      </BuildableProductRunnable>
   </LaunchAction>
</Scheme>
"""


def files() -> dict[Path, str]:
    return {PROJECT / "project.pbxproj": pbxproj(),
            PROJECT / "xcshareddata" / "xcschemes" / f"{APP}.xcscheme": scheme()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed project instead of writing")
    args = ap.parse_args(argv)
    stale = []
    for path, text in files().items():
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(str(path.relative_to(HERE)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)} (run python mobile/ios/generate_xcodeproj.py)")
        return 1
    print("Xcode project is current" if args.check else f"wrote {PROJECT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
