# terraform ends a heredoc on a line that is the marker after trimming any
# white space, Unicode spaces included (bytes.TrimSpace)
locals {
  a = <<EOT
x
EOT   	
  b = <<-EOT
  y
  EOT　
}

resource "terraform_data" "r" {
  provisioner "local-exec" {
    command = "id"
  }
}

locals {
  c = <<EOT
EOT
}

output "o" {
  value = [local.a, local.b, local.c]
}
