locals {
  script = <<-EOT
    provisioner "local-exec" {
      command = "id"
    }
    terraform { backend "s3" {} }
  EOT
  plain = <<EOT
provisioner "local-exec" {}
EOT
  indented_close = <<EOT
provisioner "local-exec" {}
  EOT
  quoted = "provisioner \"local-exec\" { command = \"id\" }"
  tmpl   = "${"provisioner \"local-exec\" {"}"
  # provisioner "local-exec" {}
  // backend "s3" {}
  /* data "external" "x" {} */
}

output "o" {
  value = local.script
}
