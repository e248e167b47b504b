#!/usr/bin/env bash
# Compiles the plain-Java QA library and its JUnit 4 tests with javac (no Gradle, no Android SDK)
# and runs them. The last line is always "N passed, N failed".
set -u
here="$(cd "$(dirname "$0")" && pwd)"
out="${QACORE_BUILD:-$here/build/javac}"
jars="${JUNIT_JARS:-/usr/share/java}"
if [ ! -f "$jars/junit4.jar" ]; then
    echo "no $jars/junit4.jar: install Debian's junit4 and libhamcrest-java (or set JUNIT_JARS)"
    echo "0 passed, 1 failed"
    exit 1
fi
cp="$jars/junit4.jar"
for j in hamcrest.jar hamcrest-core.jar hamcrest-library.jar; do
    [ -f "$jars/$j" ] && cp="$cp:$jars/$j"
done
rm -rf "$out" && mkdir -p "$out/main" "$out/test"
if ! javac -Xlint:unchecked -d "$out/main" $(find "$here/src/main/java" -name '*.java') ||
   ! javac -cp "$out/main:$cp" -d "$out/test" $(find "$here/src/test/java" -name '*.java'); then
    echo "compilation failed"
    echo "0 passed, 1 failed"
    exit 1
fi
classes=$(cd "$out/test" && find . -name '*Test.class' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
log="$out/junit.log"
java -Dfixtures.dir="$here/../../fixtures" -cp "$out/main:$out/test:$cp" org.junit.runner.JUnitCore $classes >"$log" 2>&1
status=$?
cat "$log"
# JUnitCore ends with "OK (N tests)" or "Tests run: N,  Failures: F".
if ok=$(grep -aEo '^OK \([0-9]+ tests?\)' "$log"); then
    n=$(echo "$ok" | grep -Eo '[0-9]+'); echo "$n passed, 0 failed"
elif line=$(grep -aEo 'Tests run: [0-9]+, +Failures: [0-9]+' "$log"); then
    run=$(echo "$line" | grep -Eo '[0-9]+' | head -1); failed=$(echo "$line" | grep -Eo '[0-9]+' | tail -1)
    echo "$((run - failed)) passed, $failed failed"
else
    echo "0 passed, 1 failed"
fi
exit $status
