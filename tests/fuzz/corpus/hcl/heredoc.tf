locals {
  a = <<-EOT
    provisioner "local-exec" {
    ${ join(",", [for x in ["EOT"] : x]) }
    EOT
  b = { for k, v in var.m : k => v... if v != null }
  c = provider::aws::arn_parse("arn:aws:iam::1:role/x").account_id
  d = [1, 2.5e3, -3, true ? "x" : "y", (a.b[0].c), a[*].b]
}
